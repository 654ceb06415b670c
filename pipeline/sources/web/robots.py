"""robots.txt, obeyed and cached per host (in memory for the run, in the fetch state across runs).

RFC 9309: a 4xx robots.txt means no rules; a 5xx or an unreachable one means the host is off
limits for now. Crawl-delay raises the host's spacing up to a ceiling."""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.robotparser import RobotFileParser

from pipeline.sources.web.policy import FetchError, FetchRefused
from pipeline.sources.web.urls import host_key

ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks parsers to read at least 500 KiB
# text/plain per RFC 9309, but misconfigured servers are common and a wrong label must not shut a host out
ROBOTS_TYPES = frozenset({"text/plain", "text/html", "application/octet-stream", ""})


def crawl_delays(text: str) -> list[tuple[list[str], float]]:
    """(user agents, delay) of each group with a Crawl-delay. urllib's parser takes whole seconds
    only and ignores ``2.5`` or ``5.0``; this reads any non-negative number."""
    groups: list[tuple[list[str], float]] = []
    agents: list[str] = []
    in_rules = False  # a user-agent line after rules starts a new group
    for line in text.splitlines():
        key, _, value = line.split("#", 1)[0].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
        elif key in ("allow", "disallow", "crawl-delay", "request-rate") and agents:
            in_rules = True
            if key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if math.isfinite(delay) and delay >= 0:
                    groups.append((list(agents), delay))
    return groups


class HostRules:
    def __init__(self, parser: RobotFileParser | None, unavailable: str | None = None, text: str = ""):
        self.parser = parser
        self.unavailable = unavailable  # detail of why the host is off limits
        self.delays = crawl_delays(text)

    def allows(self, agent: str, url: str) -> bool:
        return self.unavailable is None and (self.parser is None or self.parser.can_fetch(agent, url))

    def crawl_delay(self, agent: str) -> float | None:
        """The delay of the group naming this agent (as urllib matches it), else of ``*``."""
        token = agent.split("/", 1)[0].lower()
        for agents, delay in self.delays:
            if any(a != "*" and a in token for a in agents):
                return delay
        return next((delay for agents, delay in self.delays if "*" in agents), None)

    def sitemaps(self) -> list[str]:
        return list(self.parser.site_maps() or []) if self.parser is not None else []


class RobotsCache:
    """``load(robots_url)`` returns the robots.txt text, None for 'no rules' (4xx), or raises FetchError."""

    def __init__(self, agent: str, load: Callable[[str], str | None], on_delay: Callable[[str, float], None] | None = None, max_delay: float = 30.0):
        self.agent = agent.split("/", 1)[0].strip() or "*"
        self.load = load
        self.on_delay = on_delay
        self.max_delay = max_delay
        self.hosts: dict[str, HostRules] = {}

    def rules(self, url: str) -> HostRules:
        host = host_key(url)
        if host not in self.hosts:
            self.hosts[host] = self._fetch_rules(host)
            delay = self.hosts[host].crawl_delay(self.agent)
            if delay is not None and self.on_delay is not None:
                self.on_delay(host, min(delay, self.max_delay))
        return self.hosts[host]

    def _fetch_rules(self, host: str) -> HostRules:
        try:
            text = self.load(f"{host}/robots.txt")
        except FetchRefused:
            raise
        except FetchError as exc:
            if exc.http_status is not None and 400 <= exc.http_status < 500:
                return HostRules(None)
            return HostRules(None, unavailable=f"{exc.reason}: {exc.detail}")
        except Exception as exc:  # settled as unavailable for this run instead of failing every page of the host
            return HostRules(None, unavailable=f"internal_error: {type(exc).__name__}: {exc}")
        if text is None:
            return HostRules(None)
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        return HostRules(parser, text=text)

    def check(self, url: str) -> None:
        rules = self.rules(url)
        if rules.unavailable is not None:
            raise FetchRefused("robots_unavailable", f"{host_key(url)}/robots.txt could not be read ({rules.unavailable}); the host is skipped")
        if not rules.allows(self.agent, url):
            raise FetchRefused("robots_disallowed", f"{url} is disallowed for {self.agent} by {host_key(url)}/robots.txt")
