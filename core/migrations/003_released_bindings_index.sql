-- Version 3: find the bindings released in a time range (the harness's audit-completeness check
-- reads only what a step released, instead of every binding ever made).
CREATE INDEX bindings_released ON number_bindings(released_at) WHERE released_at IS NOT NULL;
