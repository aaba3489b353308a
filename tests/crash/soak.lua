-- soak.lua - the wrk half of `make soak` (tests/crash/soak.py starts wrk with it): a random mix
-- of well-formed requests to every endpoint and garbage that is still HTTP (malformed bodies,
-- wrong content types, huge headers, bad tokens, chunked bodies, unknown paths and methods).
-- Every answer's status is counted; done() prints "STATUS code count" lines, and the first few
-- answers with a 5xx other than 503 go to stderr.
local env = function(k) return os.getenv(k) or "" end
local dev, broker, tv, admin, access = env("SOAK_DEV"), env("SOAK_BROKER"), env("SOAK_TV"),
	env("SOAK_ADMIN_TOKEN"), env("SOAK_ACCESS")
local form = "application/x-www-form-urlencoded"
local scim = "application/scim+json"
local threads = {}

setup = function(thread)
	table.insert(threads, thread)
end

local function post(path, ctype, body, extra)
	local h = extra or {}
	if ctype then h["Content-Type"] = ctype end
	return wrk.format("POST", path, h, body)
end

local function basic(b) return {Authorization = "Basic " .. b} end
local function bearer(t) return {Authorization = "Bearer " .. t} end

local function rnd(n)
	local t = {}
	for i = 1, n do t[i] = string.char(math.random(97, 122)) end
	return table.concat(t)
end

local function junk(n)
	local t = {}
	for i = 1, n do t[i] = string.char(math.random(0, 255)) end
	return table.concat(t)
end

local good = {
	function() return post("/token", form, "grant_type=client_credentials", basic(dev)) end,
	function() return post("/introspect", form, "token=" .. access, basic(broker)) end,
	function() return post("/revoke", form, "token=" .. rnd(43), basic(dev)) end,
	function() return post("/device_authorization", form, "scope=openid", basic(tv)) end,
	function() return wrk.format("GET", "/jwks") end,
	function() return wrk.format("GET", "/.well-known/openid-configuration") end,
	function() return wrk.format("GET", "/healthz") end,
	function() return wrk.format("GET", "/metrics") end,
	function() return wrk.format("GET", "/userinfo", bearer(access)) end,
	function()
		return wrk.format("GET", "/scim/v2/Users?filter=userName%20sw%20%22soak%22&count=5",
			bearer(admin))
	end,
	function()
		return post("/scim/v2/Users", scim, '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
			.. '"userName":"soak-' .. rnd(12) .. '","displayName":"Soak"}', bearer(admin))
	end,
	function()
		return wrk.format("GET", "/authorize?response_type=code&client_id=app&redirect_uri="
			.. "https%3A%2F%2Frp.example%2Fcb&scope=openid&code_challenge=" .. rnd(43)
			.. "&code_challenge_method=S256")
	end,
}

local bad = {
	function() return post("/token", form, "%%%zz&&==&grant_type&=&" .. junk(20), basic(dev)) end,
	function() return post("/token", "application/json", '{"grant_type":"client_credentials"}', basic(dev)) end,
	function() return post("/token", nil, "grant_type=client_credentials", basic(dev)) end,
	function() return post("/token", form, string.rep("a=b&", 7000), basic(dev)) end,
	function() return post("/token", form, "grant_type=authorization_code&code=" .. rnd(43)
		.. "&code_verifier=" .. rnd(50) .. "&client_id=nobody") end,
	function() return post("/token", form, "grant_type=refresh_token&refresh_token=" .. rnd(43), basic(dev)) end,
	function() return wrk.format("GET", "/token") end,
	function() return wrk.format("DELETE", "/introspect") end,
	function() return post("/introspect", form, "token=x", {Authorization = "Basic !!!!"}) end,
	function() return post("/introspect", form, "token=" .. junk(100), basic(broker)) end,
	function() return post("/scim/v2/Users", scim, '{"schemas":["urn:ietf:params:scim:sch', bearer(admin)) end,
	function() return post("/scim/v2/Users", scim, '{"userName":42}', bearer(admin)) end,
	function() return post("/scim/v2/Users", "text/plain", junk(200), bearer(admin)) end,
	function()
		return wrk.format("PATCH", "/scim/v2/Users/999999", {Authorization = "Bearer " .. admin,
			["Content-Type"] = scim}, '{"Operations":[{"op":"explode","path":"((("}]}')
	end,
	function() return wrk.format("GET", "/scim/v2/Users?filter=((((((userName%20eq", bearer(admin)) end,
	function() return wrk.format("GET", "/scim/v2/Users", bearer("abc.def.ghi")) end,
	function() return wrk.format("GET", "/userinfo", bearer(junk(30):gsub("[%c\r\n]", "x"))) end,
	function() return wrk.format("GET", "/authorize?response_type=code&client_id=nope&" .. rnd(500)) end,
	function() return post("/login", form, "") end,
	function() return post("/login", form, "username=&password=&csrf=" .. rnd(40)) end,
	function() return post("/consent", form, "decision=allow") end,
	function() return post("/device", form, "user_code=" .. rnd(8)) end,
	function() return wrk.format("GET", "/device?user_code=%00%FF" .. rnd(10)) end,
	function() return wrk.format("GET", "/" .. rnd(20) .. "/../../etc/passwd") end,
	function() return wrk.format("GET", "/jwks", {["X-Junk"] = string.rep("j", 7000)}) end,
	function() return wrk.format("GET", "/healthz", {Cookie = string.rep("c=" .. rnd(10) .. ";", 900)}) end,
	function() return wrk.format("BREW", "/token") end,
	function()
		return "POST /token HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n"
			.. "Authorization: Basic " .. dev .. "\r\nContent-Type: " .. form .. "\r\n\r\n"
			.. "9\r\ngrant_typ\r\n16\r\ne=client_credentials&x\r\n0\r\n\r\n"
	end,
}

request = function()
	if math.random() < 0.7 then
		return good[math.random(#good)]()
	end
	return bad[math.random(#bad)]()
end

counts = {}
local reported = 0
response = function(status, headers, body)
	counts[status] = (counts[status] or 0) + 1
	if status >= 500 and status ~= 503 and reported < 5 then
		reported = reported + 1
		io.stderr:write("UNEXPECTED ", status, " ", body:sub(1, 300), "\n")
	end
end

local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
if pause > 0 then
	delay = function() return pause end
end

done = function(summary, latency, requests)
	for _, t in ipairs(threads) do
		for code, n in pairs(t:get("counts")) do
			io.write(string.format("STATUS %d %d\n", code, n))
		end
	end
	io.write(string.format("ERRORS connect %d read %d write %d timeout %d\n",
		summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
	io.write(string.format("LATENCY p50 %.2f p99 %.2f ms\n", latency:percentile(50) / 1000,
		latency:percentile(99) / 1000))
end
