package extproc

import "github.com/llmgate/llmgate/internal/model"

// compiled is a deployment of this config as the model compiled it (its
// mock switches, limits, timeouts, cluster); nil when the config has none
// with that id.
func (st *State) compiled(id string) *model.Deployment {
	d, _ := st.Router.Model().Deployment(id)
	return d
}
