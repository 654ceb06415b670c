-- Lines seen per site across all runs: a line many documents of one site repeat is boilerplate.
CREATE TABLE IF NOT EXISTS site_lines (
    domain            VARCHAR NOT NULL,
    line_key          VARCHAR NOT NULL,
    doc_count         INTEGER NOT NULL,
    PRIMARY KEY (domain, line_key)
);
