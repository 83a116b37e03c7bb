"""The good plugins under ``good_plugins/`` are review inputs with test suites of their own: not collected here
(``test_good_bundles.py`` runs each plugin's suite on its own, as its author would)."""

collect_ignore = ["good_plugins"]
