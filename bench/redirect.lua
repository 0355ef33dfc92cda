-- wrk script: GET /link-NNNNN/a/b?x=1 with a random one of N names, so that
-- every request is a real lookup in Signpost's index. The bare baseline gets
-- the very same requests.
local n = tonumber(os.getenv("LINKS") or "10000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/link-%05d/a/b?x=1", math.random(0, n - 1)))
end
