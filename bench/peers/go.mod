module github.com/aio-go/aio/bench/peers

go 1.26
