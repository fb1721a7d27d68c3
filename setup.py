"""What pyproject.toml cannot say: the top-level rulesets/ folder ships as package cds._rulesets.

The design card keeps the rulesets at the top of the repository; an installed package reads them
through importlib.resources (cds/knowledge.py), so they must be package data of a package.
"""

from setuptools import find_namespace_packages, setup

# Its subfolders (valuesets/) are packages too, or setuptools warns that it ships them as data only.
RULESETS = ["cds._rulesets", *(f"cds._rulesets.{name}" for name in find_namespace_packages(where="rulesets"))]

setup(
    packages=[*find_namespace_packages(include=["cds", "cds.*"]), *RULESETS],
    package_dir={"cds._rulesets": "rulesets"},
)
