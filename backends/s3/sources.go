package s3

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
)

// sourceName names a credential source, from the Source the SDK records
// in the credentials it resolved, in the words of the README.
func sourceName(src string) string {
	switch {
	case src == config.CredentialsSourceName:
		return "environment AWS_ACCESS_KEY_ID"
	case strings.HasPrefix(src, "SharedConfigCredentials: "):
		return "shared file " + strings.TrimPrefix(src, "SharedConfigCredentials: ") + profile()
	case src == ec2rolecreds.ProviderName:
		return "instance metadata (IMDS)"
	}
	return src
}

// chainSources lists the sources the default credential chain tries
// when nothing points it elsewhere, for the message that none gave
// credentials: imds reports whether the instance metadata service is
// asked, and endpoint whether an endpoint is set (which is why it is
// not).
func chainSources(imds, endpoint bool) string {
	s := fmt.Sprintf("environment AWS_ACCESS_KEY_ID, shared credentials file %s, shared config file %s%s",
		cmp.Or(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), "~/.aws/credentials"),
		cmp.Or(os.Getenv("AWS_CONFIG_FILE"), "~/.aws/config"), profile())
	switch {
	case imds:
		s += ", instance metadata (IMDS)"
	case endpoint:
		s += "; not instance metadata, since an endpoint is set"
	default:
		s += "; not instance metadata, since AWS_EC2_METADATA_DISABLED=true"
	}
	return s
}

// profile is " (profile P)" when AWS_PROFILE names one, else "".
func profile() string {
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return " (profile " + p + ")"
	}
	return ""
}

// sdkLogger is the SDK's logger: its records go to a *slog.Logger, at
// debug level, or warn level for its warnings.
type sdkLogger struct{ l *slog.Logger }

// Logf implements logging.Logger.
func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if s.l.Enabled(ctx, level) {
		s.l.Log(ctx, level, fmt.Sprintf(format, v...))
	}
}

// imdsMode is the endpoint mode AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE
// names: IPv6, or the default (IPv4).
func imdsMode(s string) imds.EndpointModeState {
	if strings.EqualFold(s, "IPv6") {
		return imds.EndpointModeStateIPv6
	}
	return imds.EndpointModeStateUnset
}
