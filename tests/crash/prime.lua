-- prime.lua - the warm-up of `make soak` (tests/crash/soak.py): fills the daemon's token
-- verification cache (8192 slots, direct-mapped) the way traffic would, so that the RSS measured
-- after the warm-up is not that cache filling up. Each connection alternates: a user's access
-- token from a refresh token that does not rotate (of the same kind and size as the crash
-- test writers' tokens, which the run then verifies), then an introspection of it (which
-- verifies and caches it).
local primer, broker = os.getenv("SOAK_PRIMER") or "", os.getenv("SOAK_BROKER") or ""
local refresh = os.getenv("SOAK_REFRESH") or ""
local form = "application/x-www-form-urlencoded"
local pending = nil

request = function()
	if pending then
		local t = pending
		pending = nil
		return wrk.format("POST", "/introspect", {["Content-Type"] = form,
			Authorization = "Basic " .. broker}, "token=" .. t)
	end
	return wrk.format("POST", "/token", {["Content-Type"] = form,
		Authorization = "Basic " .. primer}, "grant_type=refresh_token&refresh_token=" .. refresh)
end

response = function(status, headers, body)
	pending = body:match('"access_token":"([^"]+)"')
end
