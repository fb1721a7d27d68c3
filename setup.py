"""What ships, with what pyproject.toml cannot say: the top-level rulesets/ folder ships as the
package cds._rulesets (pyproject.toml's package-data would override the package_data here).

The design card keeps the rulesets at the top of the repository; an installed package reads them
through importlib.resources (cds/knowledge.py), so they must be package data of a package.
"""

from setuptools import find_namespace_packages, setup

# Byte code is no package, wherever the build finds it.
BYTECODE = ["__pycache__", "*.__pycache__"]
# Its subfolders (valuesets/) are packages too, or setuptools warns that it ships them as data only.
RULESETS = ["cds._rulesets",
            *(f"cds._rulesets.{name}" for name in find_namespace_packages(where="rulesets", exclude=BYTECODE))]

setup(
    packages=[*find_namespace_packages(include=["cds", "cds.*"], exclude=BYTECODE), *RULESETS],
    package_dir={"cds._rulesets": "rulesets"},
    package_data={
        # Page templates of the criteria catalog, the audit report and the review pages.
        "cds.catalog": ["templates/*.j2"],
        "cds.audit": ["templates/*.j2"],
        "cds.review": ["templates/*.j2", "static/*"],
        # Every file of every rulesets folder, whatever is added ("*" matches files: no __pycache__).
        **{name: ["*"] for name in RULESETS},
    },
)
