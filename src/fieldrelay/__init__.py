"""fieldrelay: keeps a home-services shop's CRM true the moment something happens in the field."""

__version__ = "0.1.0"
