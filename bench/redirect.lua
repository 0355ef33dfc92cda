-- wrk script: GET /link-NNNNN/a/b?x=1 with a random one of N names, so that
-- every request is a real lookup in Signpost's index. The bare baseline gets
-- the very same requests. NAME_DIGITS (default 5) is how many digits the
-- names have (bench/scale.sh uses 7).
local n = tonumber(os.getenv("LINKS") or "10000")
local fmt = "/link-%0" .. (os.getenv("NAME_DIGITS") or "5") .. "d/a/b?x=1"
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format(fmt, math.random(0, n - 1)))
end
