"""The marketplace: bundle intake, review, publishing, installs with capability approval and upgrades."""
