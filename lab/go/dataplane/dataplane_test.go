package main

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[codes.Code]int{codes.OK: 200, codes.Unavailable: 503, codes.PermissionDenied: 403,
		codes.DeadlineExceeded: 504, codes.Internal: 500, codes.Unauthenticated: 401} {
		if got := httpStatus(code); got != want {
			t.Errorf("httpStatus(%v) = %d, want %d", code, got, want)
		}
	}
}

func TestFaultValidate(t *testing.T) {
	for name, want := range map[string]codes.Code{"UNAVAILABLE": codes.Unavailable,
		"PermissionDenied": codes.PermissionDenied, "internal": codes.Internal} {
		got, err := fault{FailCode: name}.validate()
		if err != nil || got != want {
			t.Errorf("fail code %q: got %v, %v; want %v", name, got, err, want)
		}
	}
	for _, bad := range []fault{{FailRatio: 1.5, FailCode: "UNAVAILABLE"}, {DelayMS: -1, FailCode: "UNAVAILABLE"},
		{FailCode: "NOPE"}} {
		if _, err := bad.validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestAuthorityAndPrincipal(t *testing.T) {
	md := metadata.Pairs(":authority", "echo.shop.svc.cluster.local:7070")
	if got := authority(md); got != "echo.shop.svc.cluster.local" {
		t.Errorf("authority = %q", got)
	}
	if got := namespaceOfPrincipal("spiffe://cluster.local/ns/shop/sa/web"); got != "shop" {
		t.Errorf("namespaceOfPrincipal = %q", got)
	}
	if got := namespaceOfPrincipal("unknown"); got != "" {
		t.Errorf("namespaceOfPrincipal(unknown) = %q", got)
	}
}
