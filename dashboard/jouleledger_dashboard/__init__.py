"""JouleLedger dashboard: `jl dashboard`, server-rendered pages over the indexer."""
