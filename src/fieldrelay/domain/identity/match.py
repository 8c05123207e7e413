"""Identity matching: is an incoming customer record someone we already know?

One record at a time: ``match_keys`` gives the blocking keys (E.164 phone, email, standardised address with unit,
name keys) under which a record is indexed; a lookup of the incoming record's keys returns a few candidates;
``score`` weighs the evidence of each pair field by field; ``decide`` turns the score into MERGE (automatic), REVIEW
(a person looks) or DISTINCT. ``rank`` scores a record against known people (each with every record merged into it)
and settles the rules between candidates; ``Matcher`` is the in-memory index the bench and the tests use; the service
keeps the same keys in a table and ranks the people it loads with the same ``rank``.

This module is the entry point and re-exports the public names of:
- ``features.py``: ``Person``, its normal forms (``Features``, ``features``) and blocking keys;
- ``score.py``: the log-odds weights, the rules below, ``score`` and ``decide``;
- ``index.py``: ``rank``, ``apart`` and ``Matcher``;
- ``keys.py`` (not re-exported): names, name order, nicknames, streets and postal codes in normal form;
- ``channels.py`` (not re-exported): marketplace masked phones and relay emails, weak evidence either way.

A name that agrees weighs less the more known people of the place share it (``features.name_counts``, counted from
the postings of the name keys): "Jane S." and a ZIP code where three Jane S. live point at none of them.

Two rules overrule the sum of weights:
- household: two adults at one address, or sharing a landline or a family email, are two people. When the first
  names are clearly different (not equal, not a nickname, not a one-letter typo) and only the shared address, phone
  or email links the records, the score is capped below review. An identifier that agrees (``Person.identifiers``)
  lifts the rule; a date of birth does not (twins).
- unconfirmed: with no first name on one side (or only an initial), nothing says which adult of the household this
  is, so the score is capped below the merge threshold: a person reviews it. The same applies when one record says
  "Jr" and the other says nothing; "Jr" against "Sr" is the household rule. A shared own email whose mailbox begins
  with the first name the other record gives ("jane.smith@…") names the adult and lifts the cap. (Letting a nameless
  record join the only candidate worth a look was measured: 2 points of recall, but household merges rose from 0.06%
  to 0.25% on one seed of bench/identity.py: the other adult is often not known yet when the record arrives.)
``rank`` adds two: a record that would merge with one adult of a household while another adult of it is also a
candidate ("Pat Hunt" where Patrick and Patricia live; "Robert Hale" on the son's phone at the father's address) goes
to review, unless an identifier agrees with the best of them and not with the other; and clear matches a person kept
apart (or whose merge a person undid) go to review. Other clear matches are one person known twice: merged.
"""

from __future__ import annotations

from fieldrelay.domain.identity.features import (
    Features,
    Person,
    features,
    key_strength,
    keys_of,
    match_keys,
    name_counts,
)
from fieldrelay.domain.identity.index import MAX_POSTINGS, Candidate, Matcher, apart, rank
from fieldrelay.domain.identity.score import (
    HOUSEHOLD_CAP,
    MERGE_THRESHOLD,
    PRIOR,
    REVIEW_THRESHOLD,
    UNCONFIRMED_CAP,
    WEIGHTS,
    Decision,
    Evidence,
    MatchScore,
    decide,
    score,
    score_features,
)

__all__ = [
    "HOUSEHOLD_CAP",
    "MAX_POSTINGS",
    "MERGE_THRESHOLD",
    "PRIOR",
    "REVIEW_THRESHOLD",
    "UNCONFIRMED_CAP",
    "WEIGHTS",
    "Candidate",
    "Decision",
    "Evidence",
    "Features",
    "MatchScore",
    "Matcher",
    "Person",
    "apart",
    "decide",
    "features",
    "key_strength",
    "keys_of",
    "match_keys",
    "name_counts",
    "rank",
    "score",
    "score_features",
]
