"""Tasks for people: whose each one is, the outcomes a person may close it with, and what closing it sets off."""
