"""Shared test set-up: verify the IR after every pass in every test."""

import os

os.environ["S2SAD_CHECK"] = "1"
