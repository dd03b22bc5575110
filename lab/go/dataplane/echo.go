package main

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The echo service, written by hand instead of generated from a .proto: one unary
// method taking a string and answering with a Struct (version, pod, the caller's
// identity, ...), both well-known protobuf types, so no code generator is needed.
const (
	echoService = "meshops.dataplane.Echo"
	echoMethod  = "/" + echoService + "/Call"
)

type echoHandler interface {
	Call(ctx context.Context, in *wrapperspb.StringValue) (*structpb.Struct, error)
}

func callHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(echoHandler).Call(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: echoMethod}
	handler := func(ctx context.Context, req any) (any, error) {
		return srv.(echoHandler).Call(ctx, req.(*wrapperspb.StringValue))
	}
	return interceptor(ctx, in, info, handler)
}

var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: echoService,
	HandlerType: (*echoHandler)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Call", Handler: callHandler}},
	Metadata:    "meshops/dataplane/echo",
}
