"""The embedded demo model as one unit: its server process (process.py, server.py), its bounded grammar
(grammar.py) and its route with the caps and retry rules that differ from a hosted model's (route.py)."""
