-- prime.lua - the warm-up of `make soak` (tests/crash/soak.py): fills the daemon's token
-- verification cache (8192 slots, direct-mapped) the way traffic would, so that the RSS measured
-- after the warm-up is not that cache filling up. Each connection alternates: a client
-- credentials token, then an introspection of it (which verifies and caches it).
local dev, broker = os.getenv("SOAK_DEV") or "", os.getenv("SOAK_BROKER") or ""
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
		Authorization = "Basic " .. dev}, "grant_type=client_credentials")
end

response = function(status, headers, body)
	pending = body:match('"access_token":"([^"]+)"')
end
