package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/pii"
)

func keygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Generate a pair of PII keys for the configuration file",
		Long: `Print fresh random keys for pii.seal_key (AES-GCM sealing of ID numbers) and pii.lookup_key
(HMAC lookup hashes). Keep them secret and stable: data sealed with one key cannot be read or
found with another.`,
		Args:              cobra.NoArgs,
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := pii.GenerateKeys()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "pii:\n  seal_key: %s\n  lookup_key: %s\n", pii.EncodeKey(k.Seal), pii.EncodeKey(k.Lookup))
			return err
		},
	}
}
