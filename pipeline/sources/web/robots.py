"""robots.txt, obeyed and cached per host (in memory for the run, in the fetch state across runs).

Matching follows RFC 9309 through protego (Scrapy's parser): ``*`` and a trailing ``$`` in paths,
the longest matching rule wins and Allow wins a tie, percent-encoding is normalised on both sides,
and groups naming the same user agent are merged; the group of our agent token applies, else ``*``.
A 4xx robots.txt means no rules; a 5xx or an unreachable one means the host is off limits for
now. Crawl-delay (any non-negative number) raises the host's spacing up to a ceiling."""

from __future__ import annotations

from collections.abc import Callable

from protego import Protego

from pipeline.sources.web.policy import FetchError, FetchRefused
from pipeline.sources.web.urls import host_key

ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks parsers to read at least 500 KiB
# text/plain per RFC 9309, but misconfigured servers are common and a wrong label must not shut a host out
ROBOTS_TYPES = frozenset({"text/plain", "text/html", "application/octet-stream", ""})


def agent_token(agent: str) -> str:
    """The product token of a User-Agent string (``newsingest/0.1 (+url)`` -> ``newsingest``),
    which is what robots.txt groups name; ``*`` when there is none."""
    return agent.split("/", 1)[0].strip() or "*"


def parse_robots(text: str) -> Protego:
    # A byte order mark would otherwise hide the first line, typically the first User-agent.
    return Protego.parse(text.removeprefix("\ufeff"))


class HostRules:
    def __init__(self, parser: Protego | None, unavailable: str | None = None, text: str = ""):
        self.parser = parser if parser is not None or not text else parse_robots(text)
        self.unavailable = unavailable  # detail of why the host is off limits

    def allows(self, agent: str, url: str) -> bool:
        return self.unavailable is None and (self.parser is None or self.parser.can_fetch(url, agent_token(agent)))

    def crawl_delay(self, agent: str) -> float | None:
        """The Crawl-delay of the group that applies to this agent; when that group sets none, the
        one of ``*`` (the politer reading). Fractions count as written; negative or malformed values
        are ignored."""
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent_token(agent))
        return delay if delay is not None else self.parser.crawl_delay("*")

    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


class RobotsCache:
    """``load(robots_url)`` returns the robots.txt text, None for 'no rules' (4xx), or raises FetchError."""

    def __init__(self, agent: str, load: Callable[[str], str | None], on_delay: Callable[[str, float], None] | None = None, max_delay: float = 30.0):
        self.agent = agent_token(agent)
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
        try:
            return HostRules(parse_robots(text))
        except Exception as exc:  # a parser failure must not fail every page of the host, nor open it up
            return HostRules(None, unavailable=f"internal_error: robots.txt not parsed: {type(exc).__name__}: {exc}")

    def check(self, url: str) -> None:
        rules = self.rules(url)
        if rules.unavailable is not None:
            raise FetchRefused("robots_unavailable", f"{host_key(url)}/robots.txt could not be read ({rules.unavailable}); the host is skipped")
        if not rules.allows(self.agent, url):
            raise FetchRefused("robots_disallowed", f"{url} is disallowed for {self.agent} by {host_key(url)}/robots.txt")
