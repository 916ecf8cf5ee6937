package main

import (
	"net/url"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

const redacted = "(redacted)"

// redactURL hides the password of a URL, keeping the rest readable.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for _, k := range []string{"password", "api_key"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Redacted returns a copy of the configuration with every secret hidden: fields tagged
// secret:"true" are replaced when set, URLs tagged secret:"url" lose their password.
func (c Config) Redacted() Config {
	v := reflect.ValueOf(&c).Elem()
	redactValue(v)
	return c
}

func redactValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch t.Field(i).Tag.Get("secret") {
			case "true":
				if f.String() != "" {
					f.SetString(redacted)
				}
			case "url":
				if f.String() != "" {
					f.SetString(redactURL(f.String()))
				}
			default:
				redactValue(f)
			}
		}
	case reflect.Slice:
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := 0; i < cp.Len(); i++ {
			redactValue(cp.Index(i))
		}
		v.Set(cp)
	}
}

// YAML renders the configuration as the file format accepts it, in field order, with
// durations written as "5s" rather than nanoseconds.
func (c Config) YAML() (string, error) {
	b, err := yaml.Marshal(yamlNode(reflect.ValueOf(c)))
	return string(b), err
}

var durationType = reflect.TypeOf(time.Duration(0))

func yamlNode(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: time.Duration(v.Int()).String()}
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < v.NumField(); i++ {
			key := &yaml.Node{Kind: yaml.ScalarNode, Value: v.Type().Field(i).Tag.Get("yaml")}
			n.Content = append(n.Content, key, yamlNode(v.Field(i)))
		}
		return n
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, yamlNode(v.Index(i)))
		}
		return n
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: err.Error()}
	}
	return n
}
