-- wrk script of tests/bench/http_compare.sh: sends one captured HTTP request (the method, the
-- headers and the body sinkhost's http-sink sent) over and over, and ends wrk after a given
-- number of answers.
--
--   wrk -t 1 -c C -d LONG_ENOUGH -s wrk_replay.lua URL -- REQUEST_FILE COUNT
--
-- REQUEST_FILE holds the request as it came over the wire (request line, header lines, an empty
-- line, the body); Host and Content-Length are wrk's own. After COUNT answers the script prints
--   replay answers=N non2xx=E
-- and exits the process: wrk's thread:stop() ends the thread but wrk still sleeps out its -d,
-- so the caller times wrk from exec to exit. One thread (-t 1): the count is the whole run's.

local limit = 0
local answers = 0
local non2xx = 0

local function load_request(path)
  local file = assert(io.open(path, "rb"))
  local raw = file:read("*a")
  file:close()
  local head_end = assert(raw:find("\r\n\r\n", 1, true), "no end of headers in " .. path)
  local head = raw:sub(1, head_end - 1)
  local method = assert(head:match("^(%u+) "), "no request line in " .. path)
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+): ?([^\r\n]*)") do
    local lower = name:lower()
    if lower ~= "host" and lower ~= "content-length" then headers[name] = value end
  end
  return method, headers, raw:sub(head_end + 4)
end

function init(args)
  local method, headers, body = load_request(args[1])
  limit = tonumber(args[2])
  wrk.method = method
  wrk.body = body
  -- into wrk's table, which holds Host
  for name, value in pairs(headers) do wrk.headers[name] = value end
end

function response(status, headers, body)
  answers = answers + 1
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if answers >= limit then
    io.write(string.format("replay answers=%d non2xx=%d\n", answers, non2xx))
    io.flush()
    os.exit(0)
  end
end
