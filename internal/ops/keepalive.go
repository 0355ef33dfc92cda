package ops

import "net/http"

// CloseWhileDraining answers every response with "Connection: close" once
// draining reports true (Probes.Draining after SIGTERM), so that keep-alive
// clients open a new connection for their next request, which a load
// balancer sends to another replica, instead of keeping the old one until
// http.Server.Shutdown closes it as idle, possibly while a request is
// already on its way (an unexpected EOF the client does not retry for
// POST, PUT or DELETE). On HTTP/2 the same header makes net/http send
// GOAWAY. Server.SetKeepAlivesEnabled(false) would close idle connections
// at once instead, which races with clients in the same way.
func CloseWhileDraining(draining func() bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
