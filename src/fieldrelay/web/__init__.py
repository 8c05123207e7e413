"""The office app: server-rendered pages for the shop's people, htmx for partial updates, one module per screen.

Adding a screen: a module here with an ``APIRouter`` (pages take ``signed_in`` or ``allowed_to(Action…)`` from
``web.people_auth``), a template under ``templates/`` extending ``base.html``, one line in ``router.SCREENS`` and, when
it belongs in the menu, one line in ``nav.NAV``. docs/office.md has the whole recipe.
"""
