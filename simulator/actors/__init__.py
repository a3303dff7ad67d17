"""Institutions as ``mesa.Agent``s: councils and care home markets (NHS bodies and workforces: issue 3)."""
