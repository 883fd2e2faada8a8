"""The prompts of the seed API documents (../shared/seeds), verbatim: pro is 000-002, standard 003-004."""

PRO_SEED_PROMPT = (
    'Cinematic multi-shot of a young American couple celebrating their anniversary at a candlelit terrace'
    ' dinner in Tuscany at golden hour. Wide establishing shot sweeps over rolling vineyard hills, '
    'cypress trees casting long shadows, then cuts to a slow dolly-in on a stone terrace where a woman in'
    ' an ivory linen dress laughs softly while the man in a navy rolled-sleeve shirt pours red wine. Cut '
    'to a tender close-up: their hands interlace across the table, candlelight catching her diamond ring,'
    ' his thumb gently brushing hers. Cut to a profile two-shot as he leans in and whispers; she smiles, '
    'eyes glistening, golden light rim-lighting her loose blonde hair. Final shot: a graceful crane pull-'
    'back revealing the terrace, the warm villa, and the sun melting into the Tuscan horizon. Distant '
    'church bells, light cricket ambience, soft acoustic guitar. Photoreal skin, fabric texture, wine '
    'ripples — shot on Arri Alexa 35, anamorphic lenses, shallow depth of field, premium cinematic color '
    'grade.'
)

STANDARD_SEED_PROMPT = (
    'Cinematic multi-shot of a young American father teaching his 6-year-old daughter to ride a bike on a'
    ' sun-dappled suburban street in autumn. Wide establishing shot of the leafy neighborhood with '
    'Craftsman-style houses, then cut to a low tracking shot following the wobbling pink bike as the '
    'father runs alongside holding the seat, his blue flannel shirt fluttering. Cut to a close-up of the '
    "girl's face, golden braids whipping in the wind, her wide blue eyes shifting from nervous to joyful "
    'as she breaks into laughter. Final shot: a slow-motion crane pull-back as he lets go and she pedals '
    'freely down the street, golden hour light, lens flares, warm cinematic color grade, shot on 35mm '
    'film, shallow depth of field.'
)
