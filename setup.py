"""Packaging: templates/, static/ and migrations/ travel inside the wheel as apunto_fact/_share.

In a checkout they stay where they are (apunto_fact.paths finds them there); an installed
package (pipx install) finds them inside itself.
"""
import os

from setuptools import find_namespace_packages
from setuptools import setup

SHARED = ("templates", "static", "migrations")


def shared_packages():
    """Map every folder of templates/, static/ and migrations/ under apunto_fact._share."""
    mapping = {}
    for top in SHARED:
        for root, subdirs, _files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            mapping["apunto_fact._share." + root.replace(os.sep, ".")] = root
    return mapping


SHARE = shared_packages()

setup(
    packages=find_namespace_packages(include=["apunto_fact*"]) + sorted(SHARE),
    package_dir=SHARE,
    package_data={"apunto_fact.sat.data": ["*.gz", "*.json"],
                  **{name: ["*", ".*"] for name in SHARE}},
)
