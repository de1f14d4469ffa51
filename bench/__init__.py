"""The Rewards API benchmark (`make bench`); never part of the test suite."""
