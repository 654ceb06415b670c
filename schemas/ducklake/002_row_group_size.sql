-- Row groups of 16,384 rows (DuckLake's default is 122,880): a row group of 4 KB bodies is then
-- 64 MB, so the land stage's joins over stored articles (which read whole row groups) and file
-- merges by `newsingest compact` stay within the session's memory limit.
CALL corpus.set_option('parquet_row_group_size', 16384);
