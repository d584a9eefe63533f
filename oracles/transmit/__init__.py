"""Gathering quorum sets of signed reports and submitting them to the OutageOracle."""
