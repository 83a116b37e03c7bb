"""Server Insights: collectors feed metrics and KV; panels read them for the dashboard."""

from insights import collect, jobs
from insights.panels import activity, people, settings  # noqa: F401
from insights.plugin import plugin

__all__ = ["collect", "jobs"]

if __name__ == "__main__":
    plugin.run()
