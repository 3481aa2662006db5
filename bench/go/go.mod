module tricolor/bench/go

go 1.19
