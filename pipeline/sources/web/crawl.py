"""One fetch run: sources -> frontier -> polite fetching -> raw store + manifest.

The frontier of a batch lives in DuckDB, and every fetched URL is settled in the same transaction
that records its state, so a fetch killed at any point resumes its open batch: discovery is not
redone, settled URLs are not requested again, and the batch's manifest lists everything it got.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.settings import Settings
from pipeline.sources.web.client import ClientConfig, FetchResponse, PoliteClient
from pipeline.sources.web.discover import FEED_TYPES, HOMEPAGE_TYPES, SITEMAP_TYPES, Link, homepage_feeds, parse_feed, parse_sitemap, read_url_list
from pipeline.sources.web.policy import FetchError, FetchRefused, Resolver, scheme_refusal, system_resolver
from pipeline.sources.web.rawstore import RawStore
from pipeline.sources.web.robots import ROBOTS_MAX_BYTES, ROBOTS_TYPES, RobotsCache
from pipeline.sources.web.state import FetchStore
from pipeline.sources.web.urls import canonical_url, host_key

log = logging.getLogger(__name__)
SOURCE_KINDS = ("feed", "sitemap", "urls", "homepage")
MAX_SITEMAP_FILES = 50  # per sitemap source, index files included
MAX_HOMEPAGE_FEEDS = 3


@dataclass(frozen=True, slots=True)
class Source:
    kind: str  # feed, sitemap, urls, homepage
    location: str  # a URL, or a file path for urls
    name: str = ""


def load_sources(path: str | Path) -> list[Source]:
    """The ``[[source]]`` tables of a TOML file, each with exactly one of feed, sitemap, urls, homepage."""
    path = Path(path)
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    sources = []
    for number, table in enumerate(data.get("source", []), start=1):
        kinds = [k for k in SOURCE_KINDS if k in table]
        unknown = set(table) - set(SOURCE_KINDS) - {"name"}
        if len(kinds) != 1 or unknown:
            raise ValueError(f"{path}: source #{number} needs exactly one of {', '.join(SOURCE_KINDS)} (found {sorted(table)})")
        location = str(table[kinds[0]])
        if kinds[0] == "urls" and not Path(location).is_absolute():
            location = str(path.parent / location)
        sources.append(Source(kinds[0], location, str(table.get("name", ""))))
    if not sources:
        raise ValueError(f"{path}: no [[source]] tables")
    return sources


def sources_signature(sources: list[Source]) -> str:
    return hashlib.sha256(json.dumps([asdict(s) for s in sources], sort_keys=True).encode()).hexdigest()[:16]


class Crawler:
    def __init__(self, settings: Settings, run_id: str, resolver: Resolver = system_resolver, progress=None):
        self.settings = settings
        self.run_id = run_id
        self.progress = progress
        self.store = FetchStore(settings.fetch_state_path, settings.lock_retry_seconds)
        self.raw = RawStore(settings.raw_dir)
        config = ClientConfig.from_settings(settings)
        self.client = PoliteClient(config, resolver=resolver)
        self.robots = RobotsCache(config.user_agent, self._load_robots, self.client.gate.set_delay, settings.fetch_max_crawl_delay)
        self.client.robots = self.robots
        self.requests = 0
        self.budget_ends = float("inf")  # time.monotonic() when the run must stop; set by run()
        self.sources_skipped = 0
        self.links_dropped = 0  # over the per-source cap

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.budget_ends

    # ------------------------------------------------------------------ resources with conditional GET

    def fetch_resource(self, url: str, kind: str, content_types: frozenset[str], fresh_for: float = 0.0, max_bytes: int | None = None, check_robots: bool = True) -> bytes | None:
        """Body of a feed, sitemap, homepage or robots.txt: from the store when fresh or 304, else
        fetched and kept. Failures are recorded and re-raised."""
        prior = self.store.state(url)
        kept = self._body_kept(prior)
        if kept and prior["status"] in ("fetched", "not_modified") and prior["age"] < fresh_for:
            return self.raw.get(prior["raw_id"])
        if prior and kind == "robots" and prior["status"] == "failed" and prior["http_status"] and 400 <= prior["http_status"] < 500 and prior["age"] < fresh_for:
            raise FetchError("not_found", f"{url}: HTTP {prior['http_status']} (cached)", prior["http_status"])
        etag, modified = (prior["etag"], prior["last_modified"]) if kept else (None, None)
        try:
            response = self.client.fetch(url, etag=etag, last_modified=modified, content_types=content_types, max_bytes=max_bytes, check_robots=check_robots,
                                         deadline=self.budget_ends)
            if response.not_modified and not kept:
                raise unexpected_not_modified(url)
        except FetchError as exc:
            # A missing robots.txt means "no rules": remembered, but not a quarantine row.
            missing_robots = kind == "robots" and exc.http_status is not None and 400 <= exc.http_status < 500
            self.store.record(url, kind=kind, run_id=self.run_id, status=failure_status(exc), requests=1, error=exc, quarantine=not missing_robots)
            raise
        self.requests += response.requests
        if response.not_modified:
            self.store.record(url, kind=kind, run_id=self.run_id, status="not_modified", requests=response.requests, response=response)
            return self.raw.get(prior["raw_id"])
        raw_id, path = self.raw.put(response.body)
        self.store.record(url, kind=kind, run_id=self.run_id, status="fetched", requests=response.requests, response=response, raw_id=raw_id, raw_path=str(path))
        return response.body

    def _body_kept(self, prior: dict | None) -> bool:
        """Whether the last body of a URL is still in the raw store (validators are only worth
        sending when a 304 can be answered from it)."""
        return bool(prior and prior["raw_id"] and self.raw.object_path(prior["raw_id"]).exists())

    def _source_failed(self, url: str, kind: str, exc: Exception) -> None:
        """Quarantine a feed, sitemap or homepage that was fetched but gave nothing usable."""
        error = exc if isinstance(exc, FetchError) else internal_error(exc)
        log.warning("%s %s: %s", kind, url, error)
        self.store.record(url, kind=kind, run_id=self.run_id, status="failed", requests=0, error=error)

    def _load_robots(self, robots_url: str) -> str | None:
        body = self.fetch_resource(robots_url, "robots", ROBOTS_TYPES, fresh_for=self.settings.fetch_robots_ttl_seconds, max_bytes=ROBOTS_MAX_BYTES, check_robots=False)
        return body.decode("utf-8", errors="replace") if body is not None else None

    # ------------------------------------------------------------------ discovery

    def discover(self, source: Source) -> list[Link]:
        try:
            if source.kind == "urls":
                links, rejected = read_url_list(source.location)
                for number, text in rejected:
                    error = (scheme_refusal(text) if urlsplit(text).scheme else None) or FetchError("invalid_url", f"{source.location}:{number}: {text[:200]!r} is not an absolute URL")
                    self.store.record(text, kind="page", run_id=self.run_id, status="refused", requests=0, error=error)
                return links
            url = canonical_url(source.location)
            if source.kind == "feed":
                links = parse_feed(self.fetch_resource(url, "feed", FEED_TYPES), url)
                if not links:
                    self._source_failed(url, "feed", FetchError("no_links_found", f"{url}: the feed names no article links"))
                return links
            if source.kind == "sitemap":
                return self._sitemap_pages(url)
            if source.kind == "homepage":
                return self._homepage_pages(url)
        except FetchError as exc:
            log.warning("source %s %s: %s", source.kind, source.location, exc)
            return []
        except (OSError, ValueError) as exc:
            log.warning("source %s %s: %s", source.kind, source.location, exc)
            error = FetchError("invalid_source", f"{source.kind} {source.location}: {exc}"[:500])
            self.store.record(source.location, kind=source.kind, run_id=self.run_id, status="failed", requests=0, error=error)
            return []
        except Exception as exc:  # a bug or a case nobody foresaw: quarantined, the run goes on
            log.exception("source %s %s", source.kind, source.location)
            self.store.record(source.location, kind=source.kind, run_id=self.run_id, status="failed", requests=0, error=internal_error(exc))
            return []
        raise ValueError(f"unknown source kind {source.kind!r}")

    def _sitemap_pages(self, url: str) -> list[Link]:
        queue, seen, pages = deque([url]), {url}, []
        while queue and len(seen) <= MAX_SITEMAP_FILES:
            if self.out_of_time():
                log.warning("sitemap %s: the run's time budget ran out; %d sitemap files not read", url, len(queue))
                break
            current = queue.popleft()
            try:
                body = self.fetch_resource(current, "sitemap", SITEMAP_TYPES)
            except FetchError as exc:  # recorded by fetch_resource
                log.warning("sitemap %s: %s", current, exc)
                continue
            except Exception as exc:
                self._source_failed(current, "sitemap", exc)
                continue
            try:
                content = parse_sitemap(body, current, self.settings.fetch_max_bytes)
            except Exception as exc:  # invalid_gzip, oversize_body, or unforeseen
                self._source_failed(current, "sitemap", exc)
                continue
            if not content.pages and not content.sitemaps:
                self._source_failed(current, "sitemap", FetchError("no_links_found", f"{current}: the sitemap names no pages"))
            pages.extend(content.pages)
            for child in content.sitemaps:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return pages

    def _homepage_pages(self, url: str) -> list[Link]:
        body = self.fetch_resource(url, "homepage", HOMEPAGE_TYPES)
        links: list[Link] = []
        for feed in homepage_feeds(body, url)[:MAX_HOMEPAGE_FEEDS]:
            try:
                links.extend(parse_feed(self.fetch_resource(feed, "feed", FEED_TYPES), feed))
            except FetchError as exc:
                log.warning("feed %s: %s", feed, exc)
            except Exception as exc:
                self._source_failed(feed, "feed", exc)
        if not links:
            try:
                robots_sitemaps = self.robots.rules(url).sitemaps()
            except FetchError:
                robots_sitemaps = []
            for sitemap in robots_sitemaps[:MAX_HOMEPAGE_FEEDS]:
                links.extend(self._sitemap_pages(canonical_url(sitemap, url)))
        if not links:
            self.store.record(url, kind="homepage", run_id=self.run_id, status="failed", requests=0,
                              error=FetchError("no_feed_found", f"{url} links no feed, and robots.txt names no sitemap"))
        return links

    def limit_links(self, source: Source, links: list[Link]) -> list[Link]:
        """At most fetch_max_links_per_source links of one source, the most recently dated kept
        (a news sitemap lists years of archive; the new pages are what a poll is for), in source order."""
        cap = self.settings.fetch_max_links_per_source
        if len(links) <= cap:
            return links
        by_date = sorted(range(len(links)), key=lambda i: _timestamp(links[i].declared.get("published_at")), reverse=True)
        keep = sorted(by_date[:cap])
        self.links_dropped += len(links) - cap
        log.warning("source %s %s: %d links, the %d most recent enqueued", source.kind, source.location, len(links), cap)
        return [links[i] for i in keep]

    # ------------------------------------------------------------------ pages

    def fetch_page(self, batch_id: str, url: str, prior: dict | None) -> str:
        """Fetch one frontier URL (``prior``: its stored state) and settle it; returns the outcome.
        Whatever goes wrong settles the URL with a quarantine row: one bad page never stops a run,
        and a resumed batch never meets the same page again."""
        try:
            return self._fetch_page(batch_id, url, prior)
        except Exception as exc:
            log.exception("page %s", url)
            self.store.record(url, kind="page", run_id=self.run_id, status="failed", requests=1, batch_id=batch_id, outcome="quarantined", error=internal_error(exc))
            return "quarantined"

    def _fetch_page(self, batch_id: str, url: str, prior: dict | None) -> str:
        kept = self._body_kept(prior)
        if kept and prior["status"] in ("fetched", "not_modified") and prior["age"] < self.settings.fetch_revisit_seconds:
            self.store.finish(batch_id, url, "fresh", prior["raw_id"])
            return "fresh"
        etag, modified = (prior["etag"], prior["last_modified"]) if kept else (None, None)
        try:
            response: FetchResponse = self.client.fetch(url, etag=etag, last_modified=modified, deadline=self.budget_ends)
            if response.not_modified and not kept:
                raise unexpected_not_modified(url)
        except FetchError as exc:
            self.store.record(url, kind="page", run_id=self.run_id, status=failure_status(exc), requests=1, batch_id=batch_id, outcome="quarantined", error=exc)
            return "quarantined"
        self.requests += response.requests
        if response.not_modified:
            self.store.record(url, kind="page", run_id=self.run_id, status="not_modified", requests=response.requests, batch_id=batch_id, outcome="not_modified", response=response)
            return "not_modified"
        raw_id, path = self.raw.put(response.body)
        outcome = "unchanged" if prior and prior["raw_id"] == raw_id else "fetched"
        self.store.record(url, kind="page", run_id=self.run_id, status="fetched", requests=response.requests, batch_id=batch_id, outcome=outcome,
                          response=response, raw_id=raw_id, raw_path=str(path))
        return outcome

    def run(self, sources: list[Source], on_total: Callable[[int], None] | None = None) -> dict:
        signature = sources_signature(sources)
        batch_id, status = self.store.open_batch(signature, json.dumps([asdict(s) for s in sources]), new_batch_id(self.run_id, signature))
        resumed = status != "discovering"
        absorbed = self.store.absorb_stale_batches(batch_id)
        # The budget covers discovery too: a huge sitemap index or slow feeds cannot overrun it.
        self.budget_ends = time.monotonic() + self.settings.fetch_time_budget_seconds
        if status == "discovering":
            self.store.carry_over(batch_id, signature)
            for source in sources:
                if self.out_of_time():
                    self.sources_skipped += 1
                    log.warning("source %s %s: not read, the run's time budget ran out", source.kind, source.location)
                    continue
                links = self.limit_links(source, self.discover(source))
                self.store.enqueue(batch_id, [(link.url, source.location, link.declared) for link in links])
            self.store.set_batch_status(batch_id, "fetching")
        pending = self.store.pending(batch_id)
        by_host: dict[str, deque[str]] = {}
        for url, _source, _declared in pending[: self.settings.fetch_max_pages]:
            by_host.setdefault(host_key(url), deque()).append(url)
        if on_total is not None:
            on_total(sum(len(q) for q in by_host.values()))
        known = self.store.states([url for queue in by_host.values() for url in queue])
        while by_host and not self.out_of_time():
            # The host that is free soonest goes next: one slow or rate-limited host never holds up the others.
            host = min(by_host, key=self.client.gate.ready_at)
            url = by_host[host].popleft()
            if not by_host[host]:
                del by_host[host]
            outcome = self.fetch_page(batch_id, url, known.get(url))
            if self.progress is not None:
                self.progress.update(1)
                self.progress.set_postfix_str(outcome, refresh=False)
        deferred = self.store.defer_pending(batch_id)
        entries = self.store.batch_documents(batch_id)
        manifest = self.raw.write_manifest(batch_id, entries)
        self.store.close_batch(batch_id, str(manifest), len(entries))
        return {
            "batch_id": batch_id, "manifest": str(manifest), "documents": len(entries), "resumed": resumed,
            "outcomes": self.store.outcomes(batch_id), "deferred": deferred, "requests": self.requests,
            "sources_skipped": self.sources_skipped, "links_dropped": self.links_dropped,
            "absorbed": absorbed,
        }


def _timestamp(iso: str | None) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else float("-inf")
    except ValueError:
        return float("-inf")


def internal_error(exc: BaseException) -> FetchError:
    return FetchError("internal_error", f"{type(exc).__name__}: {exc}"[:2000])


def unexpected_not_modified(url: str) -> FetchError:
    # A 304 to a request without validators (or whose stored body is gone) has nothing to reuse;
    # the state keeps no validators, so the next run asks unconditionally.
    return FetchError("unexpected_not_modified", f"{url}: HTTP 304 without a stored body to reuse", 304)


def failure_status(exc: FetchError) -> str:
    return "refused" if isinstance(exc, FetchRefused) else "failed"


def new_batch_id(run_id: str, signature: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{signature[:8]}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)[:60]}"


def run_fetch(settings: Settings, run_id: str, sources: list[Source] | None = None, progress=None, on_total=None, resolver: Resolver = system_resolver) -> dict:
    """Fetch the given sources (default: the settings' sources file) into the raw store."""
    if sources is None:
        if not settings.fetch_sources:
            raise ValueError("no sources: set fetch_sources (NEWSINGEST_FETCH_SOURCES) to a sources TOML file")
        sources = load_sources(settings.fetch_sources)
    crawler = Crawler(settings, run_id, resolver=resolver, progress=progress)
    try:
        return crawler.run(sources, on_total=on_total)
    finally:
        crawler.client.close()
