"""Helpdesk Tickets."""

import helpdesk.flows  # noqa: F401
from helpdesk.plugin import plugin

if __name__ == "__main__":
    plugin.run()
