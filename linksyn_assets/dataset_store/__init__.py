"""A discipline's dataset as immutable shards plus a manifest: an update adds shards for its new rows and a
tombstone file for the rows that left; nothing written before is rewritten."""
