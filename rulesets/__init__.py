"""Not code: this file makes rulesets/ the package `cds._rulesets` (setup.py), so an installed
`cds` reads these files through importlib.resources, the editable install included."""
