"""Input that arrives on its own: the inbox folder, the durable queue of claims, and the event
trigger that starts news_ingest when files are ready."""
