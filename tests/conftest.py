"""Shared test set-up: verify the IR after every pass in every test; ``--long`` runs the long
random-program campaign (``test_long_run.py``) and prints its counts at the end."""

import os
import sys

import pytest
from hypothesis import settings

os.environ["S2SAD_CHECK"] = "1"

# CI must not depend on luck: property tests draw the same examples on every run (each
# test's own fixed seed). `HYPOTHESIS_PROFILE=explore pytest` draws new ones to hunt bugs.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files of generated code (review the diff!)")
    parser.addoption("--long", action="store_true",
                     help="also run the long random-program campaign (10,000+ programs, "
                          "minutes) and report its counts")


def pytest_configure(config):
    config.addinivalue_line("markers", "long: runs only with --long")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="the long campaign runs with --long")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    campaign = sys.modules.get("tests.test_long_run")
    if campaign is not None and campaign.REPORT:
        terminalreporter.section("random programs (--long)")
        for line in campaign.report_lines():
            terminalreporter.write_line(line)
