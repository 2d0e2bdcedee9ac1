package metricsauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// authenticate returns who token is, or nil when the API server does not
// accept it. Only the token's hash is kept.
func (g *guard) authenticate(ctx context.Context, token string) (*authenticationv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	if user, ok := g.users.Get(key); ok {
		return user.(*authenticationv1.UserInfo), nil
	}
	review, err := retry(ctx, g.o.Retry, func(ctx context.Context) (*authenticationv1.TokenReview, error) {
		return g.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	})
	if err != nil {
		return nil, err
	}
	var user *authenticationv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	g.users.Add(key, user, g.o.TokenTTL)
	return user, nil
}

// accessSpec is the SubjectAccessReview for user to verb path: everything
// the API server's authorizers may decide on, Extra (a token's scopes, a
// node binding) included.
func accessSpec(user *authenticationv1.UserInfo, verb, path string) authorizationv1.SubjectAccessReviewSpec {
	var extra map[string]authorizationv1.ExtraValue
	if len(user.Extra) > 0 {
		extra = make(map[string]authorizationv1.ExtraValue, len(user.Extra))
		for k, v := range user.Extra {
			extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	return authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}
}

// authorize asks the API server whether spec is allowed.
func (g *guard) authorize(ctx context.Context, spec authorizationv1.SubjectAccessReviewSpec) (bool, error) {
	key, err := decisionKey(spec)
	if err != nil {
		return false, err
	}
	if allowed, ok := g.decisions.Get(key); ok {
		return allowed.(bool), nil
	}
	review, err := retry(ctx, g.o.Retry, func(ctx context.Context) (*authorizationv1.SubjectAccessReview, error) {
		return g.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	})
	if err != nil {
		return false, err
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := g.o.DenyTTL
	if allowed {
		ttl = g.o.AllowTTL
	}
	g.decisions.Add(key, allowed, ttl)
	return allowed, nil
}

// decisionKey is the hash of the whole spec, so two requests share a
// decision only if the API server was asked the same question. JSON is
// unambiguous where joined strings are not (groups "a,b" and "a", "b"), and
// encoding/json writes map keys sorted, so equal specs hash equally.
func decisionKey(spec authorizationv1.SubjectAccessReviewSpec) ([sha256.Size]byte, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("access review key: %w", err)
	}
	return sha256.Sum256(b), nil
}
