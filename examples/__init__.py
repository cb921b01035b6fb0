"""Runnable examples of using getiickets from other code; the tests run them too."""
