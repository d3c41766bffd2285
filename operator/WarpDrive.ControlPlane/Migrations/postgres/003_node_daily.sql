-- Per-(day, node) rollup of what each node agent reported (events carry the node's name): reads, bytes, cache hits
-- and when the node last reported, for the dashboard's Nodes page. Events without a node name are not counted here.
-- Ingest keeps it current in its transaction; nothing is back-filled (older events kept no node name).
CREATE TABLE node_daily (
  day BIGINT NOT NULL,
  node TEXT NOT NULL,
  reads BIGINT NOT NULL,
  bytes_read BIGINT NOT NULL,
  cache_hits BIGINT NOT NULL,
  miss_bytes BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (day, node)
);
CREATE INDEX node_daily_node ON node_daily (node, day);
