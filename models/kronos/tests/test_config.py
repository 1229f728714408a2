import unittest

from kronos.config import (MODEL_SPECS, PREDICTOR_CONFIGS, TOKENIZER_CONFIGS, PredictorConfig, TokenizerConfig,
                           predictor_param_count, tokenizer_param_count)
from kronos.predictor import Kronos
from kronos.tokenizer import KronosTokenizer


class ConfigTest(unittest.TestCase):
    def test_released_parameter_counts_match_readme(self):
        # Totals published by the official README / reference notes.
        for name, spec in MODEL_SPECS.items():
            if spec.params:
                self.assertEqual(predictor_param_count(PREDICTOR_CONFIGS[spec.predictor]), spec.params, name)
        self.assertEqual(tokenizer_param_count(TOKENIZER_CONFIGS["tokenizer-base"]), 3_958_042)

    def test_formula_matches_built_models(self):
        for name in ("tokenizer-base", "tokenizer-tiny"):
            m = KronosTokenizer(TOKENIZER_CONFIGS[name])
            self.assertEqual(sum(p.numel() for p in m.parameters()), tokenizer_param_count(m.config), name)
        for name in ("mini", "tiny"):
            m = Kronos(PREDICTOR_CONFIGS[name])
            self.assertEqual(sum(p.numel() for p in m.parameters()), predictor_param_count(m.config), name)

    def test_official_config_json_keys_load(self):
        # The exact key set of NeoQuasar/Kronos-small's config.json.
        small = {"attn_dropout_p": 0.1, "d_model": 512, "ff_dim": 1024, "ffn_dropout_p": 0.25, "learn_te": True,
                 "n_heads": 8, "n_layers": 8, "resid_dropout_p": 0.25, "s1_bits": 10, "s2_bits": 10,
                 "token_dropout_p": 0.1}
        self.assertEqual(PredictorConfig.from_dict(small), PREDICTOR_CONFIGS["small"])
        tok = {"attn_dropout_p": 0.0, "beta": 0.05, "d_in": 6, "d_model": 256, "ff_dim": 512, "ffn_dropout_p": 0.0,
               "gamma": 1.1, "gamma0": 1.0, "group_size": 4, "n_dec_layers": 4, "n_enc_layers": 4, "n_heads": 4,
               "resid_dropout_p": 0.0, "s1_bits": 10, "s2_bits": 10, "zeta": 0.05}
        self.assertEqual(TokenizerConfig.from_dict(tok), TOKENIZER_CONFIGS["tokenizer-base"])

    def test_invalid_config_names_the_problem(self):
        with self.assertRaisesRegex(ValueError, "divisible by n_heads"):
            PredictorConfig(d_model=30, n_heads=4).validate()
        with self.assertRaisesRegex(ValueError, "d_in must be 6"):
            TokenizerConfig(d_in=5).validate()


if __name__ == "__main__":
    unittest.main()
