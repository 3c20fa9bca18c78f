"""Shared package of the ANPR services: message schemas, bus, settings, plate rules, logging."""
