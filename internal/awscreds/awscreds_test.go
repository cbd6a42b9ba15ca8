package awscreds

import "testing"

// stsRegion reads a regional STS endpoint's region from its host name.
func TestSTSRegion(t *testing.T) {
	for in, want := range map[string]string{
		"https://sts.eu-west-1.amazonaws.com":              "eu-west-1",
		"https://vpce-1.sts.ap-south-1.vpce.amazonaws.com": "ap-south-1",
		"http://127.0.0.1:9999":                            "us-west-2",
		"":                                                 "us-west-2",
		"https://sts-fips.us-gov-west-1.amazonaws.com/x?y=1": "us-gov-west-1",
	} {
		if got := stsRegion(in, "us-west-2"); got != want {
			t.Errorf("stsRegion(%q) = %q, want %q", in, got, want)
		}
	}
}
