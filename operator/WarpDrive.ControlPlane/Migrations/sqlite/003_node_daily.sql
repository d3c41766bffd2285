-- Per-(day, node) rollup of what each node agent reported (events carry the node's name): reads, bytes, cache hits
-- and when the node last reported, for the dashboard's Nodes page. Events without a node name are not counted here.
-- Ingest keeps it current in its transaction; nothing is back-filled (older events kept no node name).
CREATE TABLE node_daily (
  day INTEGER NOT NULL,
  node TEXT NOT NULL,
  reads INTEGER NOT NULL,
  bytes_read INTEGER NOT NULL,
  cache_hits INTEGER NOT NULL,
  miss_bytes INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (day, node)
);
CREATE INDEX node_daily_node ON node_daily (node, day);
