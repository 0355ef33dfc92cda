package links

import (
	"errors"
	"fmt"
)

// Code classifies an error. Codes map to HTTP statuses in exactly one
// place (web.statusOf). The CLI does not map them: any error exits 1 (2 is
// for usage errors), with the *Error's message (cmd/signpost's exitCode).
type Code string

const (
	Invalid      Code = "invalid"      // bad input: 400
	NotFound     Code = "not_found"    // 404
	Conflict     Code = "conflict"     // 409
	Unauthorized Code = "unauthorized" // no identity: 401
	Forbidden    Code = "forbidden"    // identity without the right: 403
	TooLarge     Code = "too_large"    // 413
	Unavailable  Code = "unavailable"  // database down or busy: 503
	DiskFull     Code = "disk_full"    // the database's disk is full: 507
	Internal     Code = "internal"     // 500

	// HTTP-level refusals of the API, before any rule of the domain.
	MethodNotAllowed     Code = "method_not_allowed"     // 405
	UnsupportedMediaType Code = "unsupported_media_type" // 415

	// Stale: a conditional write (If-Match, an edit form's version)
	// found the link changed since that version was read: 412.
	Stale Code = "precondition_failed"
)

// Error is an error with a Code and a message fit to show a user.
type Error struct {
	Code    Code
	Message string
	// Field is the input the error is about ("name", "url",
	// "description", "owner", "tags"; a token's "name", "scopes",
	// "expires"), so that a form can show it there; "" for none.
	Field string
	Err   error // the cause, for logs; never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message that keeps err as its cause.
func Wrap(err error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal
// for any other error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorField returns the Field of the first *Error in err's chain: the
// input err is about, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// inField returns err about field: a copy of its *Error with Field set,
// unless it names a field already (or is no *Error).
func inField(field string, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Field != "" {
		return err
	}
	c := *e
	c.Field = field
	return &c
}

// ErrorMessage returns the user-facing message of err: the *Error's message,
// or a generic one for errors that may carry internals.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
