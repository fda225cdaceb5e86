"""Shared test set-up: verify the IR after every pass in every test."""

import os

os.environ["S2SAD_CHECK"] = "1"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files of generated code (review the diff!)")
