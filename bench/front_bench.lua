-- wrk script of bench/run-front-bench: one fixed request, and a check that every answer has the
-- expected status.
--
--   wrk ... -s bench/front_bench.lua URL -- STATUS METHOD PATH [BODY]
--
-- Sends METHOD PATH (with BODY as application/json when given) on every request. Counts the
-- answers whose status is not STATUS, and at the end prints one line the script parses:
--   front: requests=N duration_us=N rps=N p50_us=N p99_us=N max_us=N checked=N unexpected=N
--          first_unexpected=STATUS errors_connect=N errors_read=N errors_write=N
--          errors_status=N errors_timeout=N
-- (rps counts every completed request, as wrk's own Requests/sec does.)

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    expected = tonumber(args[1])
    checked = 0
    unexpected = 0
    first_unexpected = 0
    local headers = {}
    local body = nil
    if args[4] ~= nil and args[4] ~= "" then
        body = args[4]
        headers["Content-Type"] = "application/json"
    end
    request_bytes = wrk.format(args[2], args[3], headers, body)
end

function request()
    return request_bytes
end

function response(status, headers, body)
    checked = checked + 1
    if status ~= expected then
        unexpected = unexpected + 1
        if first_unexpected == 0 then
            first_unexpected = status
        end
    end
end

function done(summary, latency, requests)
    local n, bad, first = 0, 0, 0
    for _, t in ipairs(threads) do
        n = n + t:get("checked")
        bad = bad + t:get("unexpected")
        local f = t:get("first_unexpected")
        if first == 0 and f ~= 0 then
            first = f
        end
    end
    local e = summary.errors
    io.write(string.format(
        "front: requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d checked=%d " ..
        "unexpected=%d first_unexpected=%d errors_connect=%d errors_read=%d errors_write=%d " ..
        "errors_status=%d errors_timeout=%d\n",
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.max, n, bad, first,
        e.connect, e.read, e.write, e.status, e.timeout))
end
